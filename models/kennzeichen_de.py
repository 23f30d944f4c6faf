"""Network definition of the kennzeichen_de recogniser, imported by EasyOCR through
``user_network_directory`` (``recog_network='kennzeichen_de'``).

It is EasyOCR's generation-2 network (VGG features, two BiLSTMs, linear CTC output),
the architecture of ``english_g2`` that the weights were fine-tuned from.
"""

import torch.nn as nn
from easyocr.model.modules import BidirectionalLSTM, VGG_FeatureExtractor


class Model(nn.Module):
    """VGG feature extractor + 2 BiLSTMs + linear CTC head (``num_class`` includes blank)."""

    def __init__(self, input_channel, output_channel, hidden_size, num_class):
        super().__init__()
        self.FeatureExtraction = VGG_FeatureExtractor(input_channel, output_channel)
        self.FeatureExtraction_output = output_channel
        self.AdaptiveAvgPool = nn.AdaptiveAvgPool2d((None, 1))
        self.SequenceModeling = nn.Sequential(
            BidirectionalLSTM(self.FeatureExtraction_output, hidden_size, hidden_size),
            BidirectionalLSTM(hidden_size, hidden_size, hidden_size))
        self.SequenceModeling_output = hidden_size
        self.Prediction = nn.Linear(self.SequenceModeling_output, num_class)

    def forward(self, input, text=None):
        visual_feature = self.FeatureExtraction(input)
        visual_feature = self.AdaptiveAvgPool(visual_feature.permute(0, 3, 1, 2))
        visual_feature = visual_feature.squeeze(3)
        contextual_feature = self.SequenceModeling(visual_feature)
        return self.Prediction(contextual_feature.contiguous())
